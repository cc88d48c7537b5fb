"""didstudy.results."""
