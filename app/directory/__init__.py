"""Directories of clients and technicians, and the links that join one business across PSAs."""
