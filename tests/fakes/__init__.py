"""Fake mail servers for tests, speaking each service's real protocol at the HTTP boundary.

- :mod:`tests.fakes.exchange` — an Exchange Server mailbox answering EWS SOAP through exchangelib's
  ``HTTP_ADAPTER_CLS`` hook (exchangelib's own code runs unchanged).
- :mod:`tests.fakes.graph` — an Exchange Online mailbox answering Microsoft Graph v1.0 on respx.
"""
