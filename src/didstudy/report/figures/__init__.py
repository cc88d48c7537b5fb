"""didstudy.report.figures."""
