"""Where mail comes from and goes to: every mail source and sender, behind two small interfaces.

``source.py`` is the interface of a mail source and its errors, ``sender.py`` that of a mail sender and its errors;
``maildir.py``, ``imap.py``, ``smtp.py``, ``graph.py`` (with ``msauth.py`` for tokens) and ``ews.py`` implement
them; ``registry.py`` builds the configured ones and checks them for ``mailbot check-config --connect``.
"""
