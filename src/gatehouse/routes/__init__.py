"""Thin web adapters: each turns HTTP into a call of the framework-free core and back."""
