"""Synthetic landing data for the `crm` source: a Ploomes-style CRM export (contract §2, §3, §4.1).

Layout, per day, under `<landing>/crm/<table>/<YYYY-MM-DD>/`, one JSON object a line, field names
spelled as the CRM's API spells them:

- `interactions/interactions-NNNN.jsonl` — the day's interactions in `Date` order, at most 50,000
  lines a file (scale 1.0 gives ~200,000 a weekday, so the pipeline must read a folder of files);
- `contacts/contacts-0001.jsonl` — the request's first day holds every contact (~4,000 companies and
  ~20,000 people at scale 1.0, with historical `CreateDate`s); each later day only the contacts
  created or changed that day (~1.8%: new phone, e-mail or name spelling, plus a few new people
  and companies); the latest version of an `Id` wins;
- `deals/deals-0001.jsonl` — the first day holds every deal (~1,500: ~40% open, ~35% won, ~25%
  lost, created up to two years back); each later day the deals created, moved to a later stage,
  won or lost that day (a few %);
- `users/users-0001.jsonl` — all ~12 account managers, every day (the table is tiny).

Files beyond the ones a run writes (`<table>-NNNN.jsonl` left by an earlier, larger run) are
removed, so re-generating a day re-delivers exactly that day.

Interactions — shares of all interactions of a day (counts are exact, not drawn):

- Noise 35.3%:
  - mass e-mails 34.6%: four or more non-empty addresses in `EmailRecipients` (4 to ~60, ~9 on
    average, some with empty `; ;` entries). Nine in ten are campaign sends (`E-mail enviado.`),
    logged in bursts at the campaign's send time with the campaign's text; one in ten is a
    customer's reply-all (`E-mail recebido.`) on one of the company's threads;
  - read receipts 0.5% (at least one a day): `E-mail recebido.` with `EmailSubject` `Lida: ` /
    `Read: ` + an earlier subject, in varying case and sometimes with leading spaces;
  - delivery receipts 0.2% (at least one a day): half with `EmailSubject` `Entregue: ` /
    `Delivered: ` (same variations), half `E-mail recebido.` with a neutral subject and `Content`
    saying `sua mensagem foi entregue` in varying case.
- Valid 64.7%: 70% of them e-mails, 30% other kinds — `Ligação` (TypeId 2), `WhatsApp` (7),
  `Reunião` (4), `Tarefa` (6, with task-like titles), `Visita` (5) and notes with a null `Title`
  (1). E-mails have TypeId 3, `Title` `E-mail recebido.` (inbound) or `E-mail enviado.` (outbound)
  and 1-3 recipients; ~8% of them hold empty entries (`a@x.com; ;b@y.com`, a trailing `;`) that
  must not count.
- Near misses that are valid, not noise: subjects like `Lidar com atraso...` and `Entregues os
  documentos...`, and outbound e-mails whose text says `sua mensagem foi entregue`.

Who an interaction is on, for every kind, noise included (drawn once per e-mail thread): 60% a
company (TypeId 2 contact), 36% a person of a company (TypeId 1 with `CompanyId`), 2.5% a person
without a company and 1.5% an id that is not in the contacts (deleted contacts). 15% of thread
replies come from another person of the company, so a day ends up ~54% direct, ~42% via a person
and ~4% unresolved. Companies' activity is heavy-tailed (a few very busy accounts). `OwnerId` is
the company's account manager 85% of the time, another manager otherwise.

E-mail threads: every company has 3-6 topics whose subjects are fixed by the seed, so a thread
goes on across days. A thread holds 1 message (40%), 2 (22%), 3 (16%) or 4-10 (22%); replies and
forwards carry prefixes (`RE:`, `Re:`, `RES:`, `ENC:`, `FW:`, `Fwd:`, `RE: RES: `, ...; 30% of
opening messages too, continuing an earlier day's thread) and switch direction 80% of the time,
so many threads have three or more inbound↔outbound changes. A thread keeps its owner (the
topic's manager) and its company, with 15% of replies from another person of that company.

Friction (contract §4.1 words) in ~12% of valid interactions on a weekday (~15% on a Friday,
whose afternoon from 14:00 gets twice the rate): 5% of topics have a friction subject (`URGENTE -
...`, `Erro na nota fiscal ...`, `App Mobile nao funciona`) and ~8.5% of valid interactions get a
friction sentence in `Content` (or, for tasks, in `Title`). Words come with and without accents
and in mixed case (`não funciona` / `nao funciona` / `NÃO FUNCIONA`, `reclamação` /
`reclamacao`, `emergência` / `emergencia`, `CEO` / `ceo`). ~3% of valid interactions hold decoys
that contain a friction word but not as a whole word (`terrorismo`, `receoso`, `gravemente`,
`problemático`); all other text pools are filtered so they hold no friction word. One campaign
subject says `urgente`: friction in noise must not count.

Time: `Date` is local `America/Sao_Paulo` time with its offset (`-03:00`; `-02:00` on the summer
days before 2019), inside the folder's day, weighted to business hours with a lunch dip, and
weekends carry a quarter (Saturday) or a tenth (Sunday) of a weekday's volume.

Text: `Content` is Portuguese e-mail-like prose (greeting, 3-5 paragraphs, closing, signature, and
on replies a quoted earlier message; campaign text for mass e-mails; shorter notes for calls and
meetings, 5% of them empty) for ~1.4 KB a JSON line on average (1,396 bytes at scale 1.0).

Determinism: the same request gives byte-identical files. The entity universe (managers,
companies, people, deals, topics) is drawn from `request.rng("crm", "universe")` plus a Faker
(`pt_BR`) seeded from it, and the text pools from `request.rng("crm", "text")`; each day's
records from `request.rng("crm", <table>, <day>, ...)`. So a day's interactions depend only on the
seed, the scale and the date, never on other days or on `start`. Contacts and deals are
anchored at the request's first day (their history is dated back from it, and later days land
the changes since), so those two tables are reproducible per request. Faker is called only while
building the pools, never per record: records are sampled from the pools with `random.Random`.
Bytes can differ between Faker versions (its name lists change).
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker
from tqdm import tqdm

from cx_assets.lakehouse.landing_writer import (
    GenerationRequest,
    landing_file,
    remove_stale,
    write_jsonl,
)

SOURCE = "crm"
TABLES = ("interactions", "contacts", "deals", "users")
LINES_PER_FILE = 50_000
PROGRESS_EVERY = 10_000

# Volumes at scale 1.0 (contract §3) and the floors that keep tiny scales coherent.
INTERACTIONS_PER_WEEKDAY = 200_000
MIN_INTERACTIONS_PER_DAY = 60
COMPANIES = 4_000
MIN_COMPANIES = 5
PEOPLE = 20_000
MIN_PEOPLE = 15
DEALS = 1_500
MIN_DEALS = 6
MANAGERS = 12
MIN_MANAGERS = 3
CHANGED_CONTACTS_PER_DAY = 360  # ~1.5% of the contacts
NEW_CONTACTS_PER_DAY = 72  # ~0.3%
NEW_DEALS_PER_DAY = 20
STAGE_MOVES_PER_DAY = 15

# Monday..Sunday volume relative to a weekday.
WEEKDAY_VOLUME = (1.0, 1.0, 1.0, 1.0, 0.95, 0.25, 0.1)
# Local hour weights: business hours, a lunch dip, a thin night.
HOUR_WEIGHTS = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 4.0, 7.0, 8.0, 7.5,
    4.5, 5.0, 7.5, 8.0, 7.0, 5.5, 3.0, 1.8, 1.2, 0.9, 0.6, 0.4,
)  # fmt: skip

# Noise shares of all interactions (contract §3); receipts get at least one a day.
MASS_EMAIL_SHARE = 0.346
READ_RECEIPT_SHARE = 0.005
DELIVERY_RECEIPT_SHARE = 0.002
CAMPAIGN_SHARE_OF_MASS = 0.9
VALID_EMAIL_SHARE = 0.70  # of valid interactions; the rest are calls, meetings, tasks...

# Whom an interaction is on (cumulative thresholds): company, person of a company, person
# without a company, unknown id.
ON_COMPANY = 0.60
ON_COMPANY_PERSON = 0.96
ON_LONE_PERSON = 0.985

OWNER_IS_ACCOUNT_MANAGER = 0.85
REPLY_SWITCHES_DIRECTION = 0.80
FRICTION_TOPIC_SHARE = 0.05
FRICTION_SENTENCE_RATE = 0.085
FRIDAY_AFTERNOON_FRICTION_FACTOR = 2.0
DECOY_RATE = 0.03
DEAL_LINK_RATE = 0.25

# Ids: base entities get small sequential ids; anything created on a given day gets an id from
# that day's block, so days never collide and a day's ids do not depend on other days.
ID_EPOCH = date(2000, 1, 1)
FIRST_USER_ID = 40_001
FIRST_CONTACT_ID = 100_001
FIRST_DEAL_ID = 500_001
INTERACTION_IDS_PER_DAY = 10_000_000
UNKNOWN_CONTACT_ID_BASE = 1_500_000_000
NEW_CONTACT_ID_BASE = 2_000_000_000
NEW_CONTACT_IDS_PER_DAY = 100_000
NEW_DEAL_ID_BASE = 3_000_000_000
NEW_DEAL_IDS_PER_DAY = 10_000

TITLE_INBOUND = "E-mail recebido."
TITLE_OUTBOUND = "E-mail enviado."
EMAIL_TYPE_ID = 3
NOTE_TYPE_ID = 1
OTHER_KINDS = (  # (title, TypeId, weight)
    ("Ligação", 2, 30),
    ("WhatsApp", 7, 25),
    ("Reunião", 4, 15),
    ("Tarefa", 6, 15),
    ("Visita", 5, 5),
    (None, NOTE_TYPE_ID, 10),
)
STATUS_OPEN, STATUS_WON, STATUS_LOST = 1, 2, 3
WON_STAGE = 5

OWN_COMPANY = "Nuvem CX"
OWN_DOMAIN = "nuvemcx.com.br"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")

# The contract's friction vocabulary (§4.1), used to keep every non-friction pool clean.
FRICTION_TERMS = (
    "urgente", "prioridade", "asap", "pra ontem", "grave", "emergencia",
    "erro", "problema", "falha", "nao funciona", "reclamacao", "defeito",
    "gerente", "diretor", "supervisor", "advogado", "presidente", "ceo",
)  # fmt: skip
FRICTION_PATTERN = re.compile(
    r"\b(?:" + "|".join(term.replace(" ", r"\s+") for term in FRICTION_TERMS) + r")\b"
)


def fold(text: str) -> str:
    """Lower case without accents, the form friction words are matched in."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def has_friction_word(text: str) -> bool:
    return FRICTION_PATTERN.search(fold(text)) is not None


# ---------------------------------------------------------------------------------------------
# Text templates. Slots: {produto} {data} {valor} {numero} {n} {pct} {mes} {ano} {cidade} {hora}
# {area}. Friction templates also take {w}, the friction word in one of its spellings.

MONTHS = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
)  # fmt: skip
PRODUCTS = (
    "CX Cloud", "Plano Empresarial", "Módulo Financeiro", "Portal do Cliente", "Licença Enterprise",
    "Suporte Premium", "Conector ERP", "Analytics Pro", "App Mobile", "Módulo de Estoque",
    "Central de Atendimento", "Pacote de Automação",
)  # fmt: skip
AREAS = ("compras", "TI", "financeiro", "operações", "vendas", "atendimento", "logística", "RH")
SECTORS = (
    "Tecnologia", "Logística", "Alimentos", "Engenharia", "Comércio", "Saúde", "Transportes",
    "Consultoria", "Indústria", "Agro", "Varejo", "Educação", "Energia", "Construtora",
    "Farmacêutica", "Têxtil", "Metalúrgica", "Serviços", "Distribuidora", "Embalagens",
)  # fmt: skip
COMPANY_SUFFIXES = ("Ltda.", "S.A.", "S/A", "ME", "EIRELI", "Ltda", "")
FREE_EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br", "uol.com.br")

BODY_SENTENCES = (
    "Conforme conversamos, segue em anexo a proposta atualizada para o {produto}.",
    "Gostaria de confirmar a reunião de alinhamento marcada para {data}.",
    "Poderia nos enviar a nota fiscal referente ao pedido {numero}?",
    "Estamos avaliando internamente a renovação do contrato e retornamos até {data}.",
    "O valor total da proposta ficou em R$ {valor}, já com os impostos inclusos.",
    "Nossa equipe financeira precisa do boleto atualizado com vencimento em {data}.",
    "Agradeço o retorno e fico no aguardo das próximas etapas.",
    "Segue o cronograma de implantação revisado com as datas que combinamos.",
    "Vocês conseguem incluir mais {n} licenças no próximo ciclo de faturamento?",
    "O treinamento da equipe de {area} foi muito produtivo, obrigado pelo apoio.",
    "Precisamos revisar as cláusulas de reajuste antes da assinatura.",
    "Encaminho abaixo os dados cadastrais para a emissão do contrato.",
    "Temos interesse em ampliar o uso do {produto} para a filial de {cidade}.",
    "Consegue me ligar amanhã pela manhã para alinharmos os detalhes?",
    "Lembrando que o período de testes termina em {data}.",
    "Segue o relatório mensal de utilização referente a {mes}.",
    "Vamos agendar uma visita técnica para a semana que vem?",
    "O pedido {numero} foi faturado e deve ser entregue em até {n} dias úteis.",
    "Aproveito para apresentar a nova funcionalidade de relatórios personalizados.",
    "Favor confirmar o recebimento desta mensagem.",
    "Atualizamos o contato responsável pela área de {area} no cadastro.",
    "As credenciais de acesso ao portal foram enviadas em outra mensagem.",
    "Temos disponibilidade na quinta-feira às {hora}h para a apresentação.",
    "Fico à disposição para qualquer dúvida.",
    "A assinatura eletrônica do aditivo já está disponível na plataforma.",
    "Conforme combinado, o desconto de {pct}% vale para pagamentos até {data}.",
    "Estamos finalizando o levantamento de requisitos com o time de {area}.",
    "Segue a planilha com os dados para importação no {produto}.",
    "O orçamento para o próximo semestre ainda está em aprovação.",
    "Podemos seguir com a integração via API na próxima sprint.",
    "A migração dos dados históricos foi concluída com sucesso.",
    "Gostaríamos de entender melhor o modelo de cobrança por usuário.",
    "Obrigado pela parceria ao longo de {ano}.",
    "O time de {area} pediu uma demonstração do {produto} para {data}.",
    "Vou repassar as informações para a equipe de {area} e volto com uma posição.",
    "Nossa expectativa é iniciar a operação em {cidade} no mês de {mes}.",
    "Poderiam confirmar se o valor de R$ {valor} inclui o suporte técnico?",
    "Estamos de acordo com as condições apresentadas na última reunião.",
    "A equipe gostou bastante da nova versão do {produto}.",
    "Seguem os dados bancários para o cadastro de fornecedor.",
    "O contrato assinado foi enviado ao setor jurídico em {data}.",
    "Precisamos de mais {n} dias para concluir a homologação.",
    "A apresentação está disponível no link compartilhado na reunião.",
    "Incluí o pessoal de {area} em cópia para acompanhar o assunto.",
    "Caso prefira, podemos fazer uma chamada rápida ainda hoje às {hora}h.",
    "Registramos a solicitação sob o protocolo {numero}.",
    "Recebemos o pagamento da fatura de {mes}, obrigado.",
    "O onboarding dos novos usuários ficou agendado para {data}.",
)
CLOSINGS = (
    "Atenciosamente,",
    "Abraços,",
    "Obrigado,",
    "Obrigada!",
    "Att.,",
    "Um abraço,",
    "Fico no aguardo.\n\nAtenciosamente,",
    "Cordialmente,",
)
PERSON_GREETINGS = (
    "Olá, {nome}!",
    "Oi {nome},",
    "Bom dia, {nome}.",
    "Boa tarde, {nome}!",
    "Prezado(a) {nome},",
    "{nome}, tudo bem?",
    "Olá {nome}, como vai?",
)
TEAM_GREETINGS = ("Prezados,", "Olá, pessoal!", "Bom dia a todos,", "Boa tarde, equipe.", "Olá,")
NOTE_SENTENCES = (
    "Cliente informou que a equipe está satisfeita com o {produto}.",
    "Combinamos nova conversa para {data}.",
    "Apresentei a proposta de renovação com desconto de {pct}%.",
    "Contato pediu material comparativo entre os planos.",
    "Revisamos com o time de {area} o uso do {produto}.",
    "Cliente solicitou a segunda via do boleto do pedido {numero}.",
    "Confirmado o horário da visita para {data} às {hora}h.",
    "Sem resposta na primeira tentativa, retornar à tarde.",
    "Cliente vai validar o orçamento internamente até {data}.",
    "Interesse em expandir para a unidade de {cidade}.",
    "Enviar proposta revisada com {n} licenças adicionais.",
    "Cliente pediu para falar novamente em {mes}.",
    "Alinhado o cronograma de implantação com o time de {area}.",
    "Valor negociado de R$ {valor} para o próximo ciclo.",
)
TASK_TITLES = (
    "Tarefa",
    "Tarefa: retornar contato",
    "Tarefa: enviar proposta",
    "Tarefa: follow-up",
    "Tarefa: agendar reunião",
)
FRICTION_TASK_TITLES = (
    "Tarefa URGENTE: retornar ligação",
    "Tarefa: verificar reclamação do cliente",
    "Tarefa: tratar falha reportada",
    "Tarefa: reclamacao sobre cobrança",
    "Tarefa: prioridade - liberar acesso",
)
NOTE_OPENERS = {
    "Ligação": (
        "Ligação com {nome}: ",
        "Retorno de ligação para {nome}. ",
        "Ligação recebida de {nome}. ",
    ),
    "WhatsApp": ("Conversa pelo WhatsApp com {nome}: ", "Mensagem de {nome} no WhatsApp: "),
    "Reunião": ("Reunião online com {nome} e equipe. ", "Reunião de acompanhamento com {nome}. "),
    "Tarefa": ("Pendência com {nome}. ", "Acompanhar {nome}. "),
    "Visita": ("Visita presencial a {nome}. ", "Visita técnica com {nome}. "),
    None: ("Anotação sobre {nome}: ", "Obs.: ", ""),
}
TOPIC_SUBJECTS = (
    "Proposta comercial - {produto}",
    "Renovação do contrato {ano}",
    "Pedido {numero}",
    "Implantação do {produto}",
    "Dúvida sobre o faturamento de {mes}",
    "Agenda de treinamento",
    "Reajuste anual {ano}",
    "Acesso ao portal do cliente",
    "Integração com o ERP",
    "Relatório de utilização - {mes}",
    "Orçamento {produto}",
    "Aditivo contratual",
    "Visita técnica em {cidade}",
    "Inclusão de novos usuários",
    "Boleto referente a {mes}",
    "Reunião de alinhamento",
    "Cadastro de fornecedor",
    "Nota fiscal {numero}",
    "Lidar com atraso na entrega do pedido {numero}",  # starts with "Lida", but is no receipt
    "Entregues os documentos do pedido {numero}",  # starts with "Entregue", but is no receipt
)
FRICTION_TOPIC_SUBJECTS = (
    "URGENTE - {produto} fora do ar",
    "Problema no acesso ao portal",
    "Erro na nota fiscal {numero}",
    "Reclamação: cobrança em duplicidade",
    "Falha na integração com o ERP",
    "{produto} nao funciona",
    "Prioridade: liberação de acesso",
    "Defeito no equipamento - pedido {numero}",
    "Emergencia - sistema indisponível",
    "Contrato em análise pelo nosso advogado",
    "Pedido {numero} - urgente",
    "Reclamacao sobre o atendimento",
)
LOOSE_SUBJECTS = (
    "Informações sobre os planos",
    "Contato pelo site",
    "Solicitação de orçamento",
    "Dúvida sobre o {produto}",
    "Indicação de parceiro",
)
CAMPAIGN_SUBJECTS = (
    "Novidades do {produto} em {mes}",
    "Convite: webinar sobre gestão de clientes",
    "Comunicado: atualização da política de privacidade",
    "Pesquisa de satisfação {ano}",
    "Condições especiais de renovação até {data}",
    "Newsletter Nuvem CX - {mes}",
    "Manutenção programada da plataforma em {data}",
    "Comunicado urgente: nova tabela de preços",  # a friction word in noise: must not count
)
MARKETING_SENTENCES = (
    "Preparamos uma seleção de novidades para ajudar sua equipe a vender mais em {mes}.",
    "O {produto} agora conta com painéis personalizáveis e exportação automática.",
    "Clientes que migraram para o plano anual economizaram até {pct}% no último ano.",
    "Inscreva-se gratuitamente no nosso próximo webinar, no dia {data}, às {hora}h.",
    "Nossa equipe de sucesso do cliente está pronta para apoiar a sua implantação.",
    "Confira os casos de sucesso de empresas de {cidade} que adotaram o {produto}.",
    "A partir de {data}, o portal terá uma nova experiência de navegação.",
    "Responda à pesquisa em menos de dois minutos e ajude a melhorar nossos serviços.",
    "Aproveite condições especiais para contratar {n} licenças adicionais.",
    "Todas as novidades já estão disponíveis para os clientes do plano empresarial.",
)
MASS_FOOTER = (
    "Você está recebendo esta mensagem porque é cliente Nuvem CX. "
    "Para deixar de receber nossos comunicados, responda com o assunto SAIR."
)
DECOY_SENTENCES = (  # contain a friction word, but never as a whole word
    "O time de compras ficou receoso com o prazo de implantação.",
    "Uma notícia sobre terrorismo atrasou o voo do consultor, mas a visita está mantida.",
    "O histórico problemático do fornecedor anterior nos deixou cautelosos.",
    "O galpão de {cidade} foi gravemente afetado pelas chuvas, mas o estoque está preservado.",
    "Ainda estamos receosos quanto ao reajuste do próximo ano.",
    "Esse ponto foi problemático na última auditoria, por isso pedimos atenção.",
)
FRICTION_TEMPLATES = {
    "urgency": (
        ("Preciso de um retorno {w} sobre este ponto.", ("urgente", "URGENTE", "Urgente")),
        ("{w}: a operação está parada até resolvermos isso.", ("URGENTE", "Urgente", "Prioridade")),
        (
            "Por favor, tratem este chamado como {w}.",
            ("prioridade", "prioridade máxima", "PRIORIDADE"),
        ),
        ("Precisamos da correção {w}.", ("asap", "ASAP", "o quanto antes (asap)")),
        ("Isso era para ser entregue {w}.", ("pra ontem", "PRA ONTEM", "Pra Ontem")),
        ("A situação é {w} e já afeta nossos clientes.", ("grave", "GRAVE", "muito grave")),
        (
            "Estamos tratando como {w} aqui.",
            ("emergência", "emergencia", "EMERGÊNCIA", "Emergencia"),
        ),
    ),
    "failure": (
        ("Está dando {w} ao emitir a nota fiscal do pedido {numero}.", ("erro", "ERRO", "Erro")),
        ("Continuamos com o mesmo {w} no acesso ao portal.", ("problema", "PROBLEMA", "Problema")),
        ("Houve uma {w} na sincronização de ontem.", ("falha", "FALHA", "Falha")),
        (
            "O {produto} {w} desde a última atualização.",
            ("não funciona", "nao funciona", "NÃO FUNCIONA", "Nao Funciona"),
        ),
        (
            "Vou registrar uma {w} formal sobre a cobrança.",
            ("reclamação", "reclamacao", "RECLAMAÇÃO", "Reclamacao"),
        ),
        ("O equipamento chegou com {w} de fábrica.", ("defeito", "DEFEITO", "Defeito")),
    ),
    "escalation": (
        (
            "Vou precisar envolver o {w} da área.",
            ("gerente", "Gerente", "GERENTE", "diretor", "Diretor", "supervisor", "Supervisor"),
        ),
        ("Nosso {w} vai analisar o contrato.", ("advogado", "Advogado", "ADVOGADO")),
        ("O {w} da empresa cobrou uma posição hoje.", ("presidente", "Presidente", "CEO", "ceo")),
    ),
}
REPLY_PREFIXES = (  # (prefix, weight): Outlook in Portuguese writes RES:/ENC:, others RE:/FW:
    ("RE: ", 30),
    ("Re: ", 14),
    ("RES: ", 22),
    ("Res: ", 6),
    ("re: ", 3),
    ("ENC: ", 7),
    ("Enc: ", 2),
    ("FW: ", 4),
    ("Fwd: ", 4),
    ("FWD: ", 1),
    ("RE: RES: ", 4),
    ("RES: RE: ", 2),
    ("Re: Fwd: ", 1),
)
READ_RECEIPT_PREFIXES = ("Lida: ", "Lida: ", "Read: ", "  Lida: ", "LIDA: ", "read: ", " Read: ")
DELIVERY_SUBJECT_PREFIXES = (
    "Entregue: ",
    "Delivered: ",
    "  Entregue: ",
    "ENTREGUE: ",
    "delivered: ",
)
DELIVERY_NOTICE_SUBJECTS = (
    "Notificação de status de entrega",
    "Confirmação de entrega",
    "Status da mensagem",
)
DELIVERY_NOTICE_PHRASES = (
    "sua mensagem foi entregue",
    "Sua mensagem foi entregue",
    "SUA MENSAGEM FOI ENTREGUE",
    "Sua Mensagem Foi Entregue",
)


# ---------------------------------------------------------------------------------------------
# Pools and the entity universe


@dataclass(frozen=True)
class TextPools:
    """Text drawn once per seed with Faker; records only sample from it."""

    first_names: list[str]
    last_names: list[str]
    cities: list[str]
    jobs: list[str]
    body_paragraphs: list[str]
    note_sentences: list[str]
    friction_sentences: list[str]
    decoy_sentences: list[str]
    campaign_bodies: list[str]


@dataclass(slots=True)
class Manager:
    id: int
    name: str
    email: str
    signature: str


@dataclass(slots=True)
class Topic:
    """A company's recurring conversation: its subject and the manager who handles it."""

    subject: str
    owner_id: int


@dataclass(slots=True, eq=False)
class Company:
    id: int
    name: str
    short_name: str
    domain: str
    owner_id: int
    email: str
    phone: str
    created: str
    created_order: tuple[int, int]
    activity: float
    people: list[Person] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Person:
    id: int
    name: str
    first_name: str
    company: Company | None
    owner_id: int
    email: str
    phone: str
    job: str
    created: str
    created_order: tuple[int, int]


@dataclass(slots=True, eq=False)
class Deal:
    id: int
    company: Company
    owner_id: int
    title: str
    amount: float
    created_day: date
    created_second: int
    decided_day: date  # won or lost from this day on; far in the future for deals left open
    decided_second: int
    outcome: int
    lost_stage: int

    def status_on(self, day: date) -> int:
        return STATUS_OPEN if day < self.decided_day else self.outcome

    def stage_on(self, day: date) -> int:
        """Open deals move through stages 1-4 evenly over their life; won ones sit at stage 5."""
        if day >= self.decided_day:
            return WON_STAGE if self.outcome == STATUS_WON else self.lost_stage
        life = max(1, (self.decided_day - self.created_day).days)
        return 1 + min(3, 4 * (day - self.created_day).days // life)

    def record(self, day: date) -> dict[str, Any]:
        status = self.status_on(day)
        return {
            "Id": self.id,
            "ContactId": self.company.id,
            "OwnerId": self.owner_id,
            "Title": self.title,
            "Amount": self.amount,
            "StageId": self.stage_on(day),
            "StatusId": status,
            "CreateDate": local_timestamp(self.created_day, self.created_second),
            "FinishDate": None
            if status == STATUS_OPEN
            else local_timestamp(self.decided_day, self.decided_second),
        }


@dataclass(frozen=True)
class Universe:
    """The CRM as it stands on the request's first day."""

    managers: list[Manager]
    companies: list[Company]
    people: list[Person]  # people of a company and people without one
    lone_people: list[Person]
    deals: list[Deal]
    company_cumulative_activity: list[float]
    all_emails: list[str]
    text: TextPools

    def pick_company(self, rng: Random) -> Company:
        total = self.company_cumulative_activity[-1]
        return self.companies[bisect(self.company_cumulative_activity, rng.random() * total)]


def local_timestamp(day: date, second_of_day: int) -> str:
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}{_utc_offsets(day)[hour]}"


@lru_cache(maxsize=4096)
def _utc_offsets(day: date) -> tuple[str, ...]:
    """The São Paulo offset (`-03:00`, or `-02:00` on the summer days before 2019) of each hour."""
    offsets = []
    for hour in range(24):
        text = datetime(day.year, day.month, day.day, hour, tzinfo=SAO_PAULO).strftime("%z")
        offsets.append(f"{text[:3]}:{text[3:]}")
    return tuple(offsets)


HOUR_CUMULATIVE = list(accumulate(HOUR_WEIGHTS))


def business_second(rng: Random) -> int:
    hour = bisect(HOUR_CUMULATIVE, rng.random() * HOUR_CUMULATIVE[-1])
    return hour * 3600 + rng.randrange(3600)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def _fill(template: str, rng: Random, cities: Sequence[str], **extra: str) -> str:
    """Fill a template's slots with plausible values (only the slots it uses are drawn)."""
    values: dict[str, str] = {}
    if "{produto}" in template:
        values["produto"] = rng.choice(PRODUCTS)
    if "{data}" in template:
        values["data"] = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}"
    if "{valor}" in template:
        reais = rng.randint(1_000, 250_000)
        values["valor"] = f"{reais:,}".replace(",", ".") + f",{rng.randrange(100):02d}"
    if "{numero}" in template:
        values["numero"] = str(rng.randint(10_000, 99_999))
    if "{n}" in template:
        values["n"] = str(rng.randint(2, 30))
    if "{pct}" in template:
        values["pct"] = str(rng.choice((5, 8, 10, 12, 15, 20, 25)))
    if "{mes}" in template:
        values["mes"] = rng.choice(MONTHS)
    if "{ano}" in template:
        values["ano"] = str(rng.randint(2023, 2026))
    if "{cidade}" in template:
        values["cidade"] = rng.choice(cities)
    if "{hora}" in template:
        values["hora"] = str(rng.choice((9, 10, 11, 14, 15, 16, 17)))
    if "{area}" in template:
        values["area"] = rng.choice(AREAS)
    values.update(extra)
    return template.format(**values)


def _clean_unique(values: Iterable[str]) -> list[str]:
    """Distinct values, in first-seen order, without friction words (so friction stays controlled)."""
    return [value for value in dict.fromkeys(values) if value and not has_friction_word(value)]


def build_text_pools(request: GenerationRequest) -> TextPools:
    rng = request.rng(SOURCE, "text")
    fake = Faker("pt_BR")
    fake.seed_instance(rng.getrandbits(64))
    first_names = _clean_unique(fake.first_name() for _ in range(600))
    last_names = _clean_unique(fake.last_name() for _ in range(600))
    cities = _clean_unique(fake.city() for _ in range(300))
    # Faker's pt_BR jobs are long ("Costurador de calçados, a máquina"): keep the short ones.
    jobs = _clean_unique(job for job in (fake.job() for _ in range(400)) if len(job) <= 28)
    jobs += ["Analista de Compras", "Coordenadora Financeira", "Comprador", "Analista de TI"]

    # Distinct templates within a paragraph, so no paragraph says the same thing twice.
    body_paragraphs = _clean_unique(
        " ".join(_fill(template, rng, cities) for template in rng.sample(BODY_SENTENCES, size))
        for size in (rng.randint(2, 4) for _ in range(1500))
    )
    note_sentences = _clean_unique(
        _fill(rng.choice(NOTE_SENTENCES), rng, cities) for _ in range(800)
    )
    # Every spelling of every friction word, three times with different slot values.
    friction_sentences = [
        _fill(template, rng, cities, w=word)
        for templates in FRICTION_TEMPLATES.values()
        for template, words in templates
        for word in words
        for _ in range(3)
    ]
    decoy_sentences = [_fill(template, rng, cities) for template in DECOY_SENTENCES]
    campaign_bodies = []
    for _ in range(40):
        paragraphs = [
            " ".join(_fill(rng.choice(MARKETING_SENTENCES), rng, cities) for _ in range(3))
            for _ in range(4)
        ]
        campaign_bodies.append("\n\n".join(paragraphs))
    return TextPools(
        first_names=first_names,
        last_names=last_names,
        cities=cities,
        jobs=_clean_unique(jobs),
        body_paragraphs=body_paragraphs,
        note_sentences=note_sentences,
        friction_sentences=friction_sentences,
        decoy_sentences=decoy_sentences,
        campaign_bodies=campaign_bodies,
    )


def _phone(rng: Random) -> str:
    area = rng.choice((11, 11, 11, 21, 31, 41, 47, 48, 51, 61, 62, 71, 81, 85, 19))
    if rng.random() < 0.6:
        return f"+55 {area} 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    return f"({area}) {rng.randint(2000, 5999)}-{rng.randint(1000, 9999)}"


def _person_name(rng: Random, text: TextPools) -> tuple[str, str]:
    first = rng.choice(text.first_names)
    last = rng.choice(text.last_names)
    if rng.random() < 0.4:
        last = f"{rng.choice(text.last_names)} {last}"
    return first, f"{first} {last}"


def _person_email(first: str, name: str, domain: str, rng: Random) -> str:
    last = name.split()[-1]
    local = rng.choice(
        (f"{slug(first)}.{slug(last)}", f"{slug(first)[0]}{slug(last)}", slug(first))
    )
    return f"{local}@{domain}"


_REPLY_PREFIX_TEXTS = [prefix for prefix, _ in REPLY_PREFIXES]
_REPLY_PREFIX_CUMULATIVE = list(accumulate(weight for _, weight in REPLY_PREFIXES))


def _reply_prefix(rng: Random) -> str:
    return rng.choices(_REPLY_PREFIX_TEXTS, cum_weights=_REPLY_PREFIX_CUMULATIVE)[0]


def build_universe(request: GenerationRequest, text: TextPools) -> Universe:
    """Managers, companies, people, topics and deals as of the request's first day."""
    rng = request.rng(SOURCE, "universe")
    fake = Faker("pt_BR")
    fake.seed_instance(rng.getrandbits(64))
    anchor = request.start

    managers = []
    manager_count = request.scaled(MANAGERS, minimum=MIN_MANAGERS)
    seen_names: set[str] = set()
    while len(managers) < manager_count:
        first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        if name in seen_names or has_friction_word(name):
            continue
        seen_names.add(name)
        email = f"{slug(first)}.{slug(last)}@{OWN_DOMAIN}"
        signature = (
            f"{name}\nExecutivo(a) de Contas | {OWN_COMPANY}\n{_phone(rng)} | www.{OWN_DOMAIN}"
        )
        managers.append(Manager(FIRST_USER_ID + len(managers), name, email, signature))
    # Some managers carry more accounts than others.
    manager_weights = [rng.uniform(0.5, 2.0) for _ in managers]

    companies: list[Company] = []
    seen_domains: set[str] = set()
    for index in range(request.scaled(COMPANIES, minimum=MIN_COMPANIES)):
        stem = rng.choice(text.last_names)
        if rng.random() < 0.25:
            stem = f"{stem} & {rng.choice(text.last_names)}"
        sector = rng.choice(SECTORS)
        short_name = f"{stem} {sector}"
        name = f"{short_name} {rng.choice(COMPANY_SUFFIXES)}".strip()
        domain = slug(short_name)
        if domain in seen_domains:
            domain = f"{domain}{index}"
        seen_domains.add(domain)
        domain += ".com.br"
        age_days = rng.randint(60, 2000)
        second = business_second(rng)
        companies.append(
            Company(
                id=0,
                name=name,
                short_name=short_name,
                domain=domain,
                owner_id=rng.choices(managers, weights=manager_weights)[0].id,
                email=f"{rng.choice(('contato', 'comercial', 'financeiro', 'atendimento'))}@{domain}",
                phone=_phone(rng),
                created=local_timestamp(anchor - timedelta(days=age_days), second),
                created_order=(-age_days, second),
                # Heavy tail: a few accounts are far busier than the rest.
                activity=min(60.0, rng.paretovariate(1.3)),
            )
        )

    people: list[Person] = []
    lone_people: list[Person] = []
    person_count = request.scaled(PEOPLE, minimum=MIN_PEOPLE)
    lone_count = max(1, round(person_count * 0.05))
    cumulative_activity = list(accumulate(company.activity for company in companies))
    for index in range(person_count):
        company: Company | None
        if index < lone_count:
            company = None
        elif index - lone_count < len(companies):
            company = companies[index - lone_count]  # every company gets a first person
        else:
            company = companies[bisect(cumulative_activity, rng.random() * cumulative_activity[-1])]
        first, name = _person_name(rng, text)
        if company is None:
            email = _person_email(first, name, rng.choice(FREE_EMAIL_DOMAINS), rng)
            owner_id = rng.choice(managers).id
            company_age = 2000
        else:
            email = _person_email(first, name, company.domain, rng)
            owner_id = company.owner_id
            company_age = -company.created_order[0]
        age_days = rng.randint(1, company_age)
        second = business_second(rng)
        person = Person(
            id=0,
            name=name,
            first_name=first,
            company=company,
            owner_id=owner_id,
            email=email,
            phone=_phone(rng),
            job=rng.choice(text.jobs),
            created=local_timestamp(anchor - timedelta(days=age_days), second),
            created_order=(-age_days, second),
        )
        people.append(person)
        if company is None:
            lone_people.append(person)
        else:
            company.people.append(person)

    # Contact ids grow with creation time, as a CRM's do.
    contacts: list[Company | Person] = [*companies, *people]
    contacts.sort(key=lambda contact: contact.created_order)
    for offset, contact in enumerate(contacts):
        contact.id = FIRST_CONTACT_ID + offset

    for company in companies:
        topic_count = rng.randint(3, 6)
        for template in rng.sample(TOPIC_SUBJECTS, topic_count):
            if rng.random() < FRICTION_TOPIC_SHARE:
                template = rng.choice(FRICTION_TOPIC_SUBJECTS)
            owner_id = (
                company.owner_id
                if rng.random() < OWNER_IS_ACCOUNT_MANAGER
                else rng.choice(managers).id
            )
            company.topics.append(Topic(_fill(template, rng, text.cities), owner_id))

    deals = [
        _historical_deal(
            FIRST_DEAL_ID + index, rng, anchor, companies, cumulative_activity, managers
        )
        for index in range(request.scaled(DEALS, minimum=MIN_DEALS))
    ]
    for deal in deals:
        deal.company.deal_ids.append(deal.id)

    all_emails = [person.email for person in people] + [company.email for company in companies]
    return Universe(
        managers=managers,
        companies=companies,
        people=people,
        lone_people=lone_people,
        deals=deals,
        company_cumulative_activity=cumulative_activity,
        all_emails=all_emails,
        text=text,
    )


def _deal_amount(rng: Random) -> float:
    return round(min(500_000.0, max(1_000.0, rng.lognormvariate(math.log(25_000), 1.1))), 2)


def _deal_cycle_days(rng: Random) -> int:
    return max(3, min(180, round(rng.lognormvariate(math.log(30), 0.7))))


def _deal_title(rng: Random, company: Company) -> str:
    return f"{rng.choice(PRODUCTS)} - {company.short_name}"


def _historical_deal(
    deal_id: int,
    rng: Random,
    anchor: date,
    companies: list[Company],
    cumulative_activity: list[float],
    managers: list[Manager],
) -> Deal:
    """A deal as of `anchor`: ~40% still open (decided within 60 days after), the rest won/lost."""
    company = companies[bisect(cumulative_activity, rng.random() * cumulative_activity[-1])]
    owner_id = company.owner_id if rng.random() < 0.9 else rng.choice(managers).id
    cycle = _deal_cycle_days(rng)
    draw = rng.random()
    if draw < 0.40:
        decided_day = anchor + timedelta(days=rng.randint(1, 60))
        created_day = max(
            anchor - timedelta(days=rng.randint(1, 180)), decided_day - timedelta(days=cycle)
        )
        created_day = min(created_day, anchor - timedelta(days=1))
        outcome = STATUS_WON if rng.random() < 0.55 else STATUS_LOST
    else:
        decided_day = anchor - timedelta(days=rng.randint(1, 540))
        created_day = decided_day - timedelta(days=cycle)
        outcome = STATUS_WON if draw < 0.75 else STATUS_LOST
    return Deal(
        id=deal_id,
        company=company,
        owner_id=owner_id,
        title=_deal_title(rng, company),
        amount=_deal_amount(rng),
        created_day=created_day,
        created_second=business_second(rng),
        decided_day=decided_day,
        decided_second=business_second(rng),
        outcome=outcome,
        lost_stage=rng.randint(1, 4),
    )


# ---------------------------------------------------------------------------------------------
# Contacts, deals and users of a day


def _company_record(company: Company) -> dict[str, Any]:
    return {
        "Id": company.id,
        "Name": company.name,
        "TypeId": 2,
        "CompanyId": None,
        "OwnerId": company.owner_id,
        "Email": company.email,
        "Phone": company.phone,
        "CreateDate": company.created,
    }


def _person_record(person: Person) -> dict[str, Any]:
    return {
        "Id": person.id,
        "Name": person.name,
        "TypeId": 1,
        "CompanyId": person.company.id if person.company else None,
        "OwnerId": person.owner_id,
        "Email": person.email,
        "Phone": person.phone,
        "CreateDate": person.created,
    }


def contact_records(universe: Universe, request: GenerationRequest, day: date) -> list[dict]:
    """All contacts on the first day; afterwards the ones created or changed that day."""
    if day == request.start:
        records = [_company_record(company) for company in universe.companies]
        records += [_person_record(person) for person in universe.people]
        records.sort(key=lambda record: record["Id"])
        return records

    rng = request.rng(SOURCE, "contacts", day.isoformat())
    text = universe.text
    everyone: list[Company | Person] = [*universe.companies, *universe.people]
    changed_count = min(len(everyone), request.scaled(CHANGED_CONTACTS_PER_DAY, minimum=1))
    records = []
    for contact in sorted(rng.sample(everyone, changed_count), key=lambda contact: contact.id):
        record = (
            _company_record(contact) if isinstance(contact, Company) else _person_record(contact)
        )
        change = rng.random()
        if change < 0.5:
            record["Phone"] = _phone(rng)
        elif change < 0.8 and isinstance(contact, Person):
            domain = contact.email.split("@", 1)[1]
            record["Email"] = _person_email(contact.first_name, contact.name, domain, rng)
        elif isinstance(contact, Person):
            # A name fixed or completed by hand.
            record["Name"] = f"{contact.name} {rng.choice(text.last_names)}"
        else:
            record["Name"] = f"{contact.short_name} {rng.choice(COMPANY_SUFFIXES[:4])}"
        records.append(record)

    first_id = NEW_CONTACT_ID_BASE + _day_number(day) * NEW_CONTACT_IDS_PER_DAY
    for offset in range(request.scaled(NEW_CONTACTS_PER_DAY, minimum=1)):
        second = business_second(rng)
        if rng.random() < 0.15:
            stem = rng.choice(text.last_names)
            short_name = f"{stem} {rng.choice(SECTORS)}"
            domain = f"{slug(short_name)}{offset}.com.br"
            record = {
                "Id": first_id + offset,
                "Name": f"{short_name} {rng.choice(COMPANY_SUFFIXES)}".strip(),
                "TypeId": 2,
                "CompanyId": None,
                "OwnerId": rng.choice(universe.managers).id,
                "Email": f"contato@{domain}",
                "Phone": _phone(rng),
                "CreateDate": local_timestamp(day, second),
            }
        else:
            company = universe.pick_company(rng)
            first, name = _person_name(rng, text)
            record = {
                "Id": first_id + offset,
                "Name": name,
                "TypeId": 1,
                "CompanyId": company.id,
                "OwnerId": company.owner_id,
                "Email": _person_email(first, name, company.domain, rng),
                "Phone": _phone(rng),
                "CreateDate": local_timestamp(day, second),
            }
        records.append(record)
    return records


def _day_number(day: date) -> int:
    number = (day - ID_EPOCH).days
    if number < 0:
        raise ValueError(f"CRM generation starts at {ID_EPOCH}, got {day}")
    return number


class DealBook:
    """Deals through a request: the historical ones plus those each later day creates.

    A deal's status and stage are functions of the day, so a day's file is just the deals whose
    state changed that day; new deals of earlier days are re-drawn from their own day's generator.
    """

    def __init__(self, universe: Universe, request: GenerationRequest) -> None:
        self.universe = universe
        self.request = request
        self._created_on: dict[date, list[Deal]] = {}

    def created_on(self, day: date) -> list[Deal]:
        if day not in self._created_on:
            rng = self.request.rng(SOURCE, "deals", day.isoformat())
            first_id = NEW_DEAL_ID_BASE + _day_number(day) * NEW_DEAL_IDS_PER_DAY
            deals = []
            for offset in range(self.request.scaled(NEW_DEALS_PER_DAY, minimum=1)):
                company = self.universe.pick_company(rng)
                # Seven in ten new deals are decided within months; the rest stay open for long.
                decided_in = _deal_cycle_days(rng) if rng.random() < 0.7 else 3650
                deals.append(
                    Deal(
                        id=first_id + offset,
                        company=company,
                        owner_id=company.owner_id,
                        title=_deal_title(rng, company),
                        amount=_deal_amount(rng),
                        created_day=day,
                        created_second=business_second(rng),
                        decided_day=day + timedelta(days=decided_in),
                        decided_second=business_second(rng),
                        outcome=STATUS_WON if rng.random() < 0.55 else STATUS_LOST,
                        lost_stage=rng.randint(1, 4),
                    )
                )
            self._created_on[day] = deals
        return self._created_on[day]

    def records(self, day: date) -> list[dict[str, Any]]:
        start = self.request.start
        if day == start:
            return [deal.record(day) for deal in self.universe.deals]
        known = list(self.universe.deals)
        for offset in range(1, (day - start).days):
            known.extend(self.created_on(start + timedelta(days=offset)))
        previous = day - timedelta(days=1)
        changed = [
            deal
            for deal in known
            if deal.status_on(day) != deal.status_on(previous)
            or deal.stage_on(day) != deal.stage_on(previous)
        ]
        return [deal.record(day) for deal in changed + self.created_on(day)]


def user_records(universe: Universe) -> list[dict[str, Any]]:
    return [
        {"Id": manager.id, "Name": manager.name, "Email": manager.email}
        for manager in universe.managers
    ]


# ---------------------------------------------------------------------------------------------
# Interactions of a day


@dataclass(slots=True)
class Target:
    """Whom an interaction is on, and how to address them."""

    contact_id: int
    company: Company | None
    person: Person | None
    greeting_name: str | None  # None: greet the team
    email: str
    signature: str


@dataclass(slots=True)
class Draft:
    """An interaction with every decision made except its prose, which is written at output time
    (so a day's ~300 MB of text never sits in memory at once)."""

    second: int
    contact_id: int
    owner_id: int
    type_id: int
    title: str | None
    subject: str | None
    recipients: str | None
    deal_id: int | None
    content: tuple  # (kind, ...) read by `_content`


class InteractionDay:
    """Drafts one day's interactions (contract §4.1 patterns) and renders them as records."""

    def __init__(self, universe: Universe, request: GenerationRequest, day: date) -> None:
        self.universe = universe
        self.day = day
        self.rng = request.rng(SOURCE, "interactions", day.isoformat())
        self.friday = day.weekday() == 4
        volume = INTERACTIONS_PER_WEEKDAY * WEEKDAY_VOLUME[day.weekday()]
        self.count = request.scaled(volume, minimum=MIN_INTERACTIONS_PER_DAY)
        if self.count >= INTERACTION_IDS_PER_DAY:
            raise ValueError(f"too many CRM interactions for one day: {self.count}")
        self.first_id = _day_number(day) * INTERACTION_IDS_PER_DAY + 1
        self._manager_ids = [manager.id for manager in universe.managers]
        self._managers_by_id = {manager.id: manager for manager in universe.managers}
        self._other_kinds_cumulative = list(accumulate(weight for *_, weight in OTHER_KINDS))

    # -- whom, by whom ----------------------------------------------------------------------

    def pick_target(self) -> Target:
        rng = self.rng
        draw = rng.random()
        if draw < ON_COMPANY_PERSON:
            company = self.universe.pick_company(rng)
            if draw < ON_COMPANY or not company.people:
                return self.company_target(company)
            return self.person_target(rng.choice(company.people))
        if draw < ON_LONE_PERSON:
            return self.person_target(rng.choice(self.universe.lone_people))
        # A contact deleted from the CRM after its interactions were logged.
        contact_id = UNKNOWN_CONTACT_ID_BASE + rng.randrange(100_000_000)
        first, name = _person_name(rng, self.universe.text)
        email = _person_email(first, name, rng.choice(FREE_EMAIL_DOMAINS), rng)
        return Target(contact_id, None, None, first, email, name)

    @staticmethod
    def company_target(company: Company) -> Target:
        return Target(
            company.id, company, None, None, company.email, f"Equipe {company.short_name}"
        )

    @staticmethod
    def person_target(person: Person) -> Target:
        company_line = person.company.name if person.company else ""
        signature = f"{person.name}\n{person.job}\n{company_line}\n{person.phone}"
        return Target(person.id, person.company, person, person.first_name, person.email, signature)

    def owner_for(self, target: Target) -> int:
        if target.company is not None and self.rng.random() < OWNER_IS_ACCOUNT_MANAGER:
            return target.company.owner_id
        if target.person is not None and self.rng.random() < OWNER_IS_ACCOUNT_MANAGER:
            return target.person.owner_id
        return self.rng.choice(self._manager_ids)

    def deal_for(self, target: Target) -> int | None:
        company = target.company
        if company is None or not company.deal_ids or self.rng.random() >= DEAL_LINK_RATE:
            return None
        return self.rng.choice(company.deal_ids)

    def colleagues(self, target: Target, count: int) -> list[str]:
        if target.company is None or count <= 0:
            return []
        people = target.company.people
        return [self.rng.choice(people).email for _ in range(count)] if people else []

    def recipients(self, addresses: list[str]) -> str:
        """`;`-joined addresses; now and then with an empty entry, as Outlook exports leave them."""
        rng = self.rng
        addresses = list(dict.fromkeys(addresses))
        if rng.random() < 0.06:
            addresses.insert(rng.randint(1, len(addresses)), rng.choice(("", " ", "  ")))
        separator = "; " if rng.random() < 0.7 else ";"
        joined = separator.join(addresses)
        if rng.random() < 0.02:
            joined += ";"
        return joined

    def is_friction_now(self, second: int) -> bool:
        rate = FRICTION_SENTENCE_RATE
        if self.friday and second >= 14 * 3600:
            rate *= FRIDAY_AFTERNOON_FRICTION_FACTOR
        return self.rng.random() < rate

    # -- drafting ---------------------------------------------------------------------------

    def drafts(self) -> list[Draft]:
        count = self.count
        mass = round(count * MASS_EMAIL_SHARE)
        read = max(1, round(count * READ_RECEIPT_SHARE))
        delivery = max(1, round(count * DELIVERY_RECEIPT_SHARE))
        valid = count - mass - read - delivery
        emails = round(valid * VALID_EMAIL_SHARE)
        drafts = self.email_threads(emails)
        drafts += [self.other_kind() for _ in range(valid - emails)]
        drafts += self.mass_emails(mass)
        drafts += [self.read_receipt() for _ in range(read)]
        drafts += [self.delivery_receipt(index) for index in range(delivery)]
        drafts.sort(key=lambda draft: draft.second)  # stable: threads keep their order
        return drafts

    def thread_length(self) -> int:
        draw = self.rng.random()
        if draw < 0.40:
            return 1
        if draw < 0.62:
            return 2
        if draw < 0.78:
            return 3
        return self.rng.randint(4, 10)

    def email_threads(self, count: int) -> list[Draft]:
        rng = self.rng
        text = self.universe.text
        drafts: list[Draft] = []
        while len(drafts) < count:
            target = self.pick_target()
            if target.company is not None:
                topic = rng.choice(target.company.topics)
                subject, owner_id = topic.subject, topic.owner_id
            else:
                subject = _fill(rng.choice(LOOSE_SUBJECTS), rng, text.cities)
                owner_id = self.owner_for(target)
            manager = self._managers_by_id[owner_id]
            deal_id = self.deal_for(target)
            inbound = rng.random() < 0.55
            second = business_second(rng)
            sender = target
            length = min(self.thread_length(), count - len(drafts))
            for position in range(length):
                if position > 0:
                    second += 60 + int(rng.expovariate(1 / 2700))
                    if second >= 86_400:
                        break  # the conversation goes on tomorrow
                    if rng.random() < REPLY_SWITCHES_DIRECTION:
                        inbound = not inbound
                    if target.company is not None and target.company.people and rng.random() < 0.15:
                        sender = self.person_target(rng.choice(target.company.people))
                replying = position > 0 or rng.random() < 0.3
                prefix = _reply_prefix(rng) if replying else ""
                if inbound:
                    addresses = [manager.email, *self.colleagues(sender, rng.choice((0, 0, 1)))]
                    signer, addressee = sender.signature, manager.name.split()[0]
                    quoted = manager.name if replying else None
                else:
                    addresses = [sender.email, *self.colleagues(sender, rng.randint(0, 2))]
                    signer, addressee = manager.signature, sender.greeting_name
                    quoted = sender.signature.split("\n", 1)[0] if replying else None
                friction = self.is_friction_now(second)
                drafts.append(
                    Draft(
                        second=second,
                        contact_id=sender.contact_id,
                        owner_id=owner_id,
                        type_id=EMAIL_TYPE_ID,
                        title=TITLE_INBOUND if inbound else TITLE_OUTBOUND,
                        subject=prefix + subject,
                        recipients=self.recipients(addresses[:3]),
                        deal_id=deal_id,
                        content=("mail", addressee, signer, friction, quoted, inbound),
                    )
                )
        return drafts

    def other_kind(self) -> Draft:
        rng = self.rng
        kind, type_id, _ = OTHER_KINDS[
            bisect(self._other_kinds_cumulative, rng.random() * self._other_kinds_cumulative[-1])
        ]
        target = self.pick_target()
        second = business_second(rng)
        friction = self.is_friction_now(second)
        title = kind
        if kind == "Tarefa":
            # Task titles are free text, so friction can sit in the title itself.
            if friction and rng.random() < 0.5:
                title, friction = rng.choice(FRICTION_TASK_TITLES), False
            else:
                title = rng.choice(TASK_TITLES)
        if target.person is not None:
            name = target.person.name
        elif target.company is not None:
            name = target.company.short_name
        else:
            name = target.signature
        empty = kind is not None and rng.random() < 0.05
        return Draft(
            second=second,
            contact_id=target.contact_id,
            owner_id=self.owner_for(target),
            type_id=type_id,
            title=title,
            subject=None,
            recipients=None,
            deal_id=self.deal_for(target),
            content=("none",) if empty else ("note", kind, name, friction),
        )

    def mass_emails(self, count: int) -> list[Draft]:
        """Campaign sends logged in bursts, plus customers' reply-alls on their own threads."""
        rng = self.rng
        text = self.universe.text
        drafts: list[Draft] = []
        campaign_count = max(1, min(8, count // 2000 + 1))
        campaigns = [
            (
                _fill(rng.choice(CAMPAIGN_SUBJECTS), rng, text.cities),
                rng.randrange(len(text.campaign_bodies)),
                rng.choice((8, 9, 10, 11, 14, 15, 16)) * 3600 + rng.randrange(0, 3600, 300),
            )
            for _ in range(campaign_count)
        ]
        sends = round(count * CAMPAIGN_SHARE_OF_MASS)
        for index in range(count):
            target = self.pick_target()
            addresses = [target.email, *rng.choices(self.universe.all_emails, k=self.mass_size())]
            while len(set(addresses)) < 4:
                addresses.append(f"contato{len(addresses)}@{OWN_DOMAIN}")
            addresses = list(dict.fromkeys(addresses))
            recipients = "; ".join(addresses)
            if rng.random() < 0.05:
                recipients = recipients.replace("; ", "; ; ", 1)  # an empty entry, still 4+ real
            if index < sends:
                subject, body, sent_at = campaigns[index % campaign_count]
                drafts.append(
                    Draft(
                        second=min(86_399, sent_at + rng.randrange(900)),
                        contact_id=target.contact_id,
                        owner_id=self.owner_for(target),
                        type_id=EMAIL_TYPE_ID,
                        title=TITLE_OUTBOUND,
                        subject=subject,
                        recipients=recipients,
                        deal_id=None,
                        content=("campaign", target.greeting_name, body),
                    )
                )
                continue
            owner_id = self.owner_for(target)
            manager_name = self._managers_by_id[owner_id].name
            drafts.append(
                Draft(
                    second=business_second(rng),
                    contact_id=target.contact_id,
                    owner_id=owner_id,
                    type_id=EMAIL_TYPE_ID,
                    title=TITLE_INBOUND,
                    subject=_reply_prefix(rng) + self.thread_subject(target),
                    recipients=recipients,
                    deal_id=None,
                    content=("mail", None, target.signature, False, manager_name, True),
                )
            )
        return drafts

    def mass_size(self) -> int:
        """Extra recipients of a mass e-mail: at least 3 more, ~8 on average, a long tail."""
        return min(60, 3 + int(self.rng.expovariate(1 / 5)))

    def thread_subject(self, target: Target) -> str:
        if target.company is not None:
            return self.rng.choice(target.company.topics).subject
        text = self.universe.text
        return _fill(self.rng.choice(LOOSE_SUBJECTS), self.rng, text.cities)

    def read_receipt(self) -> Draft:
        rng = self.rng
        target = self.pick_target()
        subject = self.thread_subject(target)
        if rng.random() < 0.3:
            subject = _reply_prefix(rng) + subject
        prefix = rng.choice(READ_RECEIPT_PREFIXES)
        owner_id = self.owner_for(target)
        return Draft(
            second=business_second(rng),
            contact_id=target.contact_id,
            owner_id=owner_id,
            type_id=EMAIL_TYPE_ID,
            title=TITLE_INBOUND,
            subject=prefix + subject,
            recipients=self._managers_by_id[owner_id].email,
            deal_id=None,
            content=("read", subject, target.email, prefix.strip().lower().startswith("read")),
        )

    def delivery_receipt(self, index: int) -> Draft:
        rng = self.rng
        target = self.pick_target()
        original = self.thread_subject(target)
        owner_id = self.owner_for(target)
        # Alternate the two shapes so even a one-receipt day has the subject form first.
        if index % 2 == 0:
            prefix = rng.choice(DELIVERY_SUBJECT_PREFIXES)
            subject = prefix + original
            english = prefix.strip().lower().startswith("delivered")
        else:
            subject = rng.choice(DELIVERY_NOTICE_SUBJECTS)
            english = False
        return Draft(
            second=business_second(rng),
            contact_id=target.contact_id,
            owner_id=owner_id,
            type_id=EMAIL_TYPE_ID,
            title=TITLE_INBOUND,
            subject=subject,
            recipients=self._managers_by_id[owner_id].email,
            deal_id=None,
            content=("delivery", original, target.email, english),
        )

    # -- rendering --------------------------------------------------------------------------

    def records(self, drafts: Sequence[Draft], first_index: int) -> Iterator[dict[str, Any]]:
        """Records for `drafts`, the slice of the day's drafts that starts at `first_index`."""
        for offset, draft in enumerate(drafts):
            yield {
                "Id": self.first_id + first_index + offset,
                "ContactId": draft.contact_id,
                "OwnerId": draft.owner_id,
                "Date": local_timestamp(self.day, draft.second),
                "TypeId": draft.type_id,
                "Title": draft.title,
                "Content": self._content(draft),
                "EmailSubject": draft.subject,
                "EmailRecipients": draft.recipients,
                "DealId": draft.deal_id,
            }

    def _paragraphs(self, count: int, friction: bool) -> list[str]:
        rng = self.rng
        text = self.universe.text
        paragraphs = rng.choices(text.body_paragraphs, k=count)
        if friction:
            position = rng.randrange(len(paragraphs) + 1)
            paragraphs.insert(position, rng.choice(text.friction_sentences))
        if rng.random() < DECOY_RATE:
            paragraphs.append(_fill(rng.choice(text.decoy_sentences), rng, text.cities))
        return paragraphs

    def _stamp(self, second: int) -> str:
        earlier = max(0, second - self.rng.randrange(600, 7200))
        return f"{self.day:%d/%m/%Y} às {earlier // 3600:02d}:{earlier % 3600 // 60:02d}"

    def _content(self, draft: Draft) -> str | None:
        rng = self.rng
        text = self.universe.text
        kind = draft.content[0]
        if kind == "mail":
            _, addressee, signer, friction, quoted, inbound = draft.content
            greeting = (
                rng.choice(PERSON_GREETINGS).format(nome=addressee)
                if addressee
                else rng.choice(TEAM_GREETINGS)
            )
            body = "\n\n".join(self._paragraphs(rng.randint(3, 5), friction))
            parts = [greeting, body, f"{rng.choice(CLOSINGS)}\n{signer}"]
            if quoted:
                author = quoted.split("\n", 1)[0]
                parts.append(
                    f"Em {self._stamp(draft.second)}, {author} escreveu:\n> "
                    + "\n>\n> ".join(rng.choices(text.body_paragraphs, k=rng.randint(1, 2)))
                )
            if not inbound and rng.random() < 0.003:
                # An outbound e-mail may quote the phrase of a delivery receipt: still valid.
                parts.insert(2, "Confirmo que sua mensagem foi entregue ao time de compras.")
            return "\n\n".join(parts)
        if kind == "note":
            _, note_kind, name, friction = draft.content
            opener = rng.choice(NOTE_OPENERS[note_kind])
            sentences = rng.choices(text.note_sentences, k=rng.randint(3, 6))
            if friction:
                sentences.insert(
                    rng.randrange(len(sentences) + 1), rng.choice(text.friction_sentences)
                )
            if rng.random() < DECOY_RATE:
                sentences.append(_fill(rng.choice(text.decoy_sentences), rng, text.cities))
            notes = opener.format(nome=name) + " ".join(sentences)
            if rng.random() < 0.7:
                notes += "\n\n" + rng.choice(text.body_paragraphs)
            return notes
        if kind == "campaign":
            _, addressee, body_index = draft.content
            greeting = f"Olá, {addressee}!" if addressee else "Olá!"
            return f"{greeting}\n\n{text.campaign_bodies[body_index]}\n\nEquipe {OWN_COMPANY}\n\n{MASS_FOOTER}"
        if kind == "read":
            _, subject, reader, english = draft.content
            sent = self._stamp(draft.second)
            if english:
                return f"Your message\n\n  To: {reader}\n  Subject: {subject}\n  Sent: {sent}\n\nwas read."
            return f"Sua mensagem\n\n  Para: {reader}\n  Assunto: {subject}\n  Enviada em: {sent}\n\nfoi lida."
        if kind == "delivery":
            _, subject, recipient, english = draft.content
            if english:
                return f"Your message has been delivered to the following recipients:\n\n{recipient}\n\nSubject: {subject}"
            phrase = rng.choice(DELIVERY_NOTICE_PHRASES)
            return (
                f"Esta é uma notificação automática: {phrase} aos seguintes destinatários:\n\n"
                f"{recipient}\n\nAssunto: {subject}"
            )
        return None


# ---------------------------------------------------------------------------------------------
# Writing


def _write_table(
    request: GenerationRequest,
    table: str,
    day: date,
    items: Sequence[Any],
    render: Callable[[Sequence[Any], int], Iterable[dict[str, Any]]],
    bar: tqdm,
) -> int:
    """Write `items` as `<table>-NNNN.jsonl` files of at most LINES_PER_FILE lines (at least one
    file, possibly empty: "nothing changed today" is not "nothing delivered"), then remove the
    higher-numbered files an earlier run may have left."""
    written = 0
    paths = []
    file_count = max(1, math.ceil(len(items) / LINES_PER_FILE))
    for file_index in range(file_count):
        start = file_index * LINES_PER_FILE
        chunk = items[start : start + LINES_PER_FILE]
        path = landing_file(
            request.landing_dir, SOURCE, table, day, f"{table}-{file_index + 1:04d}.jsonl"
        )
        written += write_jsonl(path, _counting(render(chunk, start), bar))
        paths.append(path)
    remove_stale(path.parent, [f"{table}-[0-9][0-9][0-9][0-9].jsonl"], paths)
    return written


def _counting(records: Iterable[dict[str, Any]], bar: tqdm) -> Iterator[dict[str, Any]]:
    pending = 0
    for record in records:
        yield record
        pending += 1
        if pending == PROGRESS_EVERY:
            bar.update(pending)
            pending = 0
    bar.update(pending)


def _as_is(items: Sequence[dict[str, Any]], _: int) -> Iterable[dict[str, Any]]:
    return items


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write CRM landing files for request.dates; return records written per table
    ({"interactions": n, "contacts": n, "deals": n, "users": n})."""
    universe = build_universe(request, build_text_pools(request))
    deal_book = DealBook(universe, request)
    totals = dict.fromkeys(TABLES, 0)
    for day in request.dates:
        interactions = InteractionDay(universe, request, day)
        contacts = contact_records(universe, request, day)
        deals = deal_book.records(day)
        users = user_records(universe)
        total = interactions.count + len(contacts) + len(deals) + len(users)
        with request.progress(total, f"crm {day.isoformat()}") as bar:
            drafts = interactions.drafts()
            totals["interactions"] += _write_table(
                request, "interactions", day, drafts, interactions.records, bar
            )
            totals["contacts"] += _write_table(request, "contacts", day, contacts, _as_is, bar)
            totals["deals"] += _write_table(request, "deals", day, deals, _as_is, bar)
            totals["users"] += _write_table(request, "users", day, users, _as_is, bar)
    return totals
