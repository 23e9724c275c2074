"""The support models as plain functions, no Dagster: the volume forecast (statsforecast),
ticket categorization (scikit-learn) and the assignment plan (scipy's exact solver)."""
