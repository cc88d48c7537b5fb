"""didstudy.report.tables."""
