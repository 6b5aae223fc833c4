"""Online exams: definitions and blueprints, attempts frozen at the start, grading, results, practice."""
