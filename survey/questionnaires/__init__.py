"""Questionnaires as data: loading and checking the files, question types, versions."""
