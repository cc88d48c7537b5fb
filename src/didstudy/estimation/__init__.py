"""didstudy.estimation."""
