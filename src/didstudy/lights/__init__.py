"""didstudy.lights."""
