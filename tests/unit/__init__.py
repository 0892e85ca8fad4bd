"""Unit tests: pure logic, local files, and S3 through a real moto server."""
