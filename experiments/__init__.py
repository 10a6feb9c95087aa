"""Study drivers: research protocols built on vita's public method APIs (not part of the CLI)."""
