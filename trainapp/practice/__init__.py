"""Practice mode (练习): instant feedback and a wrong-answer book; never an exam result."""
