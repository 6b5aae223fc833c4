"""Question banks: the questions exams are drawn from, their import, export and upkeep."""
