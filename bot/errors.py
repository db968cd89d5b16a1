"""Errors whose message is meant for the person who caused them."""


class UserError(Exception):
    """Something about what the user asked cannot be done; the message is shown to them as is."""
