"""Mail in: a raw mail becomes facts (``reading``), finds its record (``matching``), changes it as the mail's sender
may (``apply``, asking ``rules.authority``), and is recorded once, whatever happens (``ingest``); ``watch`` is the
loop that waits for new mail."""
