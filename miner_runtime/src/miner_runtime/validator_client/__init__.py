"""Talking to validators: whom to send to, and what each kind of reply means."""
