import VigilFleet
