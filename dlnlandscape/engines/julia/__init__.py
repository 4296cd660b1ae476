"""engines/julia"""
