"""didstudy.inference."""
