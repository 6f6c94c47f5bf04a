"""Browser end-to-end tests: Playwright in headless Debian Chromium against a live server."""
