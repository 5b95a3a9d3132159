"""The clock: every tick asks ``rules.decide`` what is due for each open record and carries it out (``tick``,
``actions``); ``scheduler`` runs the tick, the sending, the digest and the retention purge at their times, and
catches up after downtime."""
