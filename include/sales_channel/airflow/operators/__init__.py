"""Operators of this project (the only ones that need more than a TaskFlow function)."""
