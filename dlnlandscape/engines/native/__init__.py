"""engines/native"""
