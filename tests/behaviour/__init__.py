"""Behaviour tests run once per mail transport."""
