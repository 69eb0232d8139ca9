"""Moderation rules: the rule set model, the pure engine and the default rules."""
