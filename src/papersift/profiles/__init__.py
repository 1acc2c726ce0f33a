"""Personal interest profiles: config (`[[profiles]]` in papersift.toml), library files,
interest clusters and the explained ranking of a day's papers."""

from .config import Profile, find_profile, load_profiles, profiles_of, read_export, write_profile
from .daily import DayRanking, ProfileRanker
from .interests import Interests, build_interests, cluster
from .library import Library, LibraryEntry, read_library
from .rank import Ranked, Ranking, rank_papers

__all__ = ["DayRanking", "Interests", "Library", "LibraryEntry", "Profile", "ProfileRanker",
           "Ranked", "Ranking", "build_interests", "cluster", "find_profile", "load_profiles", "profiles_of",
           "rank_papers", "read_export", "read_library", "write_profile"]
