"""Pure domain rules: policies, the working-day calendar and decisions. No I/O, no clock reads."""
