"""Mail out: the words (``compose`` and ``templates/``, subject lines included), queueing a mail in the outbox in
the transaction of the change that causes it (``outbox``), delivering the outbox (``delivery``), and the QA
managers' digest (``digest``)."""
