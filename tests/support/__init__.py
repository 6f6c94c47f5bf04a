"""Test helpers: real servers started once per session, and shared fixtures' building blocks."""
