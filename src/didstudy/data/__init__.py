"""didstudy.data."""
