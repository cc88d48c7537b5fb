"""didstudy.report."""
