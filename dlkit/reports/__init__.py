"""Examiner's papers: term-work reports, viva question sets, practical-exam plans and sheets."""
