"""didstudy.measure."""
