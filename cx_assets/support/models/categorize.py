"""Ticket categorization with scikit-learn: TF-IDF over subject and description (masked,
words and word pairs), then a linear SVM (hinge loss, fitted by SGD: as accurate here as
LinearSVC and ~10× faster) whose scores are calibrated into probabilities
(CalibratedClassifierCV, sigmoid, 3 folds).

- Training rows: tickets delivered with a category (latest version), created before the
  as-of time; the most recent `max_training_rows` of them, so training time stays flat as
  history grows. A category with fewer than `min_class_rows` rows is left out (it cannot
  be calibrated, nor predicted).
- Evaluation: a time-ordered holdout, the newest `holdout_share` of those rows, scored by
  a model trained on the older ones; macro-F1 and accuracy against two baselines, the
  majority class and a keyword rule (`rules.CATEGORY_KEYWORDS`: the category with most
  keyword hits, the majority class without any). The model then trains on every row for
  the predictions.
- Too few rows or categories, or no word to learn from (texts of digits and
  one-letter words, or words each in one ticket only): no model (`pipeline` None, `reason`
  says why); predictions are then null and every ticket needs review.
- A text holding no term of the model's vocabulary (blank, emoji, another script, words
  never seen) gets no prediction either: the model's scores for it are the classes' prior.
- Inputs unchanged since the stored classifier (same rows, keywords, as-of day, settings,
  scikit-learn and this module's code): it is kept (`fingerprint`); a refit would be equal.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cx_assets.lakehouse.markdown import markdown_cell
from cx_assets.support.models.fingerprint import source_digest, training_fingerprint

# scikit-learn is imported inside the functions that train or score: importing it costs
# ~1 s, and every run of every domain loads this module with the definitions.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

TOKENS = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of 2+ letters: no numbers, no masks' digits
# The one-vs-rest SVMs of a fit run on this many threads (sklearn's SGD fits classes in
# parallel, without the GIL; each class has its own seed, so the model is the same).
SGD_THREADS = 2


@dataclass(frozen=True)
class ClassifierSettings:
    max_training_rows: int = 30_000
    holdout_share: float = 0.2
    min_training_rows: int = 20
    min_class_rows: int = 5
    calibration_folds: int = 3


@dataclass
class TicketClassifier:
    pipeline: Pipeline | None
    categories: tuple[str, ...]
    metrics: dict[str, float | int | None]
    per_category: pd.DataFrame  # holdout precision, recall, f1, support per category
    as_of_day: date | None
    reason: str | None = None
    settings: ClassifierSettings = field(default_factory=ClassifierSettings)
    fingerprint: str | None = None  # of what it was trained from (`classifier_fingerprint`)


class NoWords(ValueError):
    """The training texts hold no term the vectorizer keeps."""


# What scikit-learn's TfidfVectorizer raises (a ValueError) when no term is left to learn.
_NO_TERMS = ("empty vocabulary", "no terms remain")


def build_pipeline(settings: ClassifierSettings) -> Pipeline:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(
            token_pattern=TOKENS,
            lowercase=True,
            ngram_range=(1, 2),
            min_df=2,
            max_features=50_000,
            sublinear_tf=True,
        ),
        CalibratedClassifierCV(
            SGDClassifier(loss="hinge", alpha=1e-4, random_state=0, n_jobs=SGD_THREADS),
            method="sigmoid",
            cv=settings.calibration_folds,
        ),
    )


def keyword_predictions(
    texts: Sequence[str], keywords: Mapping[str, Sequence[str]], fallback: str
) -> np.ndarray:
    """The keyword baseline: per text, the category with most keyword hits (ties: the first
    category alphabetically), `fallback` when no keyword appears."""
    from sklearn.feature_extraction.text import CountVectorizer

    categories = sorted(keywords)
    vocabulary = sorted({word.lower() for words in keywords.values() for word in words})
    if not vocabulary:  # no keyword configured: no hit (scikit-learn refuses no vocabulary)
        return np.full(len(texts), fallback, dtype=object)
    counts = CountVectorizer(vocabulary=vocabulary, token_pattern=TOKENS).transform(texts)
    membership = np.array(
        [[word in {w.lower() for w in keywords[c]} for c in categories] for word in vocabulary],
        dtype=float,
    )
    scores = np.asarray(counts @ membership)
    best = np.array(categories, dtype=object)[scores.argmax(axis=1)]
    return np.where(scores.max(axis=1) > 0, best, fallback)


def _trainable(rows: pd.DataFrame, minimum: int) -> pd.DataFrame:
    sizes = rows["category"].value_counts()
    return rows[rows["category"].isin(sizes[sizes >= minimum].index)]


def classifier_fingerprint(
    rows: pd.DataFrame,
    keywords: Mapping[str, Sequence[str]],
    as_of_day: date | None,
    settings: ClassifierSettings,
) -> str:
    """Everything `train_classifier` reads, the scikit-learn version and this module's
    source (the pipeline's hyperparameters are here)."""
    import sklearn

    vocabulary = sorted((category, tuple(words)) for category, words in keywords.items())
    return training_fingerprint(
        rows, vocabulary, as_of_day, settings, sklearn.__version__, source_digest(__file__)
    )


def train_classifier(
    rows: pd.DataFrame,
    keywords: Mapping[str, Sequence[str]],
    as_of_day: date | None,
    settings: ClassifierSettings = ClassifierSettings(),
    previous: TicketClassifier | None = None,
) -> TicketClassifier:
    """`rows`: ticket_id, created_at, text, category, oldest first. `previous` (the stored
    classifier) is returned as it is when it was trained from exactly these inputs."""
    fingerprint = classifier_fingerprint(rows, keywords, as_of_day, settings)
    if previous is not None and getattr(previous, "fingerprint", None) == fingerprint:
        return previous
    classifier = _trained(rows, keywords, as_of_day, settings)
    classifier.fingerprint = fingerprint
    return classifier


def _trained(
    rows: pd.DataFrame,
    keywords: Mapping[str, Sequence[str]],
    as_of_day: date | None,
    settings: ClassifierSettings,
) -> TicketClassifier:
    sample = rows.sort_values(["created_at", "ticket_id"]).tail(settings.max_training_rows)
    sample = _trainable(sample, settings.min_class_rows).reset_index(drop=True)
    holdout_rows = int(len(sample) * settings.holdout_share)
    train, holdout = (
        sample.iloc[: len(sample) - holdout_rows],
        sample.iloc[len(sample) - holdout_rows :],
    )
    train = _trainable(train, settings.calibration_folds)
    metrics: dict[str, float | int | None] = {
        "training_rows": len(sample),
        "holdout_rows": len(holdout),
        "max_training_rows": settings.max_training_rows,
    }
    # The minimum is of the tickets the predicting model learns from (all of them), not of
    # the older part left after the holdout: 22 categorized tickets once gave no model for
    # "18 categorized tickets to learn from, 20 needed".
    reason = None
    if len(sample) < settings.min_training_rows:
        reason = (
            f"{len(sample)} categorized tickets to learn from, {settings.min_training_rows} needed"
        )
    elif sample["category"].nunique() < 2:
        reason = "fewer than two categories with enough tickets"
    if reason:
        return TicketClassifier(None, (), metrics, pd.DataFrame(), as_of_day, reason, settings)

    per_category = pd.DataFrame()
    try:
        # Scored only when the older part alone can be learned from (two categories).
        if len(holdout) and train["category"].nunique() >= 2:
            try:
                scores, per_category = _evaluate(train, holdout, keywords, settings)
                metrics.update(scores)
            except NoWords:
                pass  # the older part alone has none: not scored; the reason is the whole's
        final = _fitted(_trainable(sample, settings.calibration_folds), settings)
    except NoWords as error:
        return TicketClassifier(None, (), metrics, pd.DataFrame(), as_of_day, str(error), settings)
    return TicketClassifier(
        final, tuple(final.classes_), metrics, per_category, as_of_day, None, settings
    )


def _fitted(rows: pd.DataFrame, settings: ClassifierSettings) -> Pipeline:
    from threadpoolctl import threadpool_limits

    pipeline = build_pipeline(settings)
    # One BLAS thread: the sigmoid calibration solves dozens of two-parameter problems
    # (L-BFGS-B), where a second OpenBLAS thread only spins; on 2 busy cores that made a
    # fit 1.5-2.5x slower (the results are the same).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")  # a rare class may leave a fold short of examples
        try:
            pipeline.fit(rows["text"], rows["category"])
        except ValueError as error:
            if not any(sign in str(error) for sign in _NO_TERMS):
                raise
            raise NoWords(
                f"no word to learn from in {len(rows)} categorized tickets: a word of two "
                "letters or more, in two tickets at least"
            ) from error
    return pipeline


def _evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    keywords: Mapping[str, Sequence[str]],
    settings: ClassifierSettings,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Macro-F1 and accuracy of the model and both baselines on the holdout, and the
    model's precision, recall and F1 per category."""
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    truth = holdout["category"]
    majority = DummyClassifier(strategy="most_frequent").fit(train["text"], train["category"])
    model_predictions = _fitted(train, settings).predict(holdout["text"])
    predictions = {
        "model": model_predictions,
        "majority": majority.predict(holdout["text"]),
        "keyword": keyword_predictions(
            holdout["text"].tolist(),
            keywords,
            str(majority.classes_[majority.class_prior_.argmax()]),
        ),
    }
    scores = {}
    for name, predicted in predictions.items():
        scores[f"{name}_macro_f1"] = float(
            f1_score(truth, predicted, average="macro", zero_division=0)
        )
        scores[f"{name}_accuracy"] = float(accuracy_score(truth, predicted))
    labels = sorted(truth.unique())
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, model_predictions, labels=labels, zero_division=0
    )
    per_category = pd.DataFrame(
        {"category": labels, "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    return scores, per_category


def beats_baselines(classifier: TicketClassifier) -> bool:
    """Macro-F1 and accuracy on the holdout above both baselines'."""
    metrics = classifier.metrics
    if classifier.pipeline is None or metrics.get("model_macro_f1") is None:
        return False
    return all(
        metrics[f"model_{measure}"] > metrics[f"{baseline}_{measure}"]
        for measure in ("macro_f1", "accuracy")
        for baseline in ("majority", "keyword")
    )


def predict_categories(classifier: TicketClassifier, texts: Sequence[str]) -> pd.DataFrame:
    """predicted_category and confidence (the calibrated probability of that category);
    both null without a model, and for a text holding no term the model learned."""
    if classifier.pipeline is None or len(texts) == 0:
        return pd.DataFrame(
            {
                "predicted_category": pd.Series([None] * len(texts), dtype=object),
                "confidence": pd.Series([np.nan] * len(texts), dtype=float),
            }
        )
    terms = classifier.pipeline[:-1].transform(list(texts))
    probabilities = classifier.pipeline[-1].predict_proba(terms)
    best = probabilities.argmax(axis=1)
    # A text with no term of the vocabulary (blank, emoji, another script, unseen words)
    # gives the model nothing: its scores would be the classes' prior, a confidence that
    # could clear the review threshold for a ticket nobody read. No prediction instead.
    read = np.asarray(terms.getnnz(axis=1)) > 0
    return pd.DataFrame(
        {
            "predicted_category": np.where(
                read, np.asarray(classifier.pipeline.classes_, dtype=object)[best], None
            ),
            "confidence": np.where(read, probabilities[np.arange(len(best)), best], np.nan),
        }
    )


def metrics_markdown(classifier: TicketClassifier) -> str:
    """Holdout scores of the model and the baselines, and per category (model metadata)."""
    if classifier.pipeline is None:
        return f"No model: {classifier.reason}."
    metrics = classifier.metrics
    if metrics.get("model_macro_f1") is None:
        return "No holdout to evaluate on."
    lines = ["| predictor | macro-F1 | accuracy |", "| --- | ---: | ---: |"]
    for name in ("model", "keyword", "majority"):
        lines.append(
            f"| {name} | {metrics[f'{name}_macro_f1']:.3f} | {metrics[f'{name}_accuracy']:.3f} |"
        )
    lines += [
        "",
        "| category | precision | recall | F1 | holdout tickets |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in classifier.per_category.itertuples():
        lines.append(
            f"| {markdown_cell(row.category)} | {row.precision:.3f} | {row.recall:.3f} | {row.f1:.3f} | {row.support} |"
        )
    return "\n".join(lines)
