"""The consultation (有事来协商): its hooks, records, public tracking, the method's vocabulary and the demo county."""
