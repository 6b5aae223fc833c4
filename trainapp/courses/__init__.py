"""Courses, lessons, enrolment, server-side progress and credit hours (学时); classroom sessions; archives."""
