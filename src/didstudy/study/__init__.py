"""didstudy.study."""
