"""Pure parsers: email bytes and text in, facts out. No I/O, no database, no clock."""
