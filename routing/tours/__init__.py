"""Delivery tours from a railhead: multi-trip trucks of several types under drivers' hours.

``solve_tours(problem, stop)`` is the one entry point; it screens the deliveries, solves with the
engine that measured best for the problem's class (PyVRP or OR-Tools) and returns each truck's
trips with exact times, breaks and costs.
"""

from routing.tours.instances import CvrpInstance as CvrpInstance
from routing.tours.instances import SolomonInstance as SolomonInstance
from routing.tours.instances import cvrp_problem as cvrp_problem
from routing.tours.instances import parse_cvrplib as parse_cvrplib
from routing.tours.instances import parse_solomon as parse_solomon
from routing.tours.instances import solomon_problem as solomon_problem
from routing.tours.problem import AETR as AETR
from routing.tours.problem import Delivery as Delivery
from routing.tours.problem import Depot as Depot
from routing.tours.problem import DriverRules as DriverRules
from routing.tours.problem import Fleet as Fleet
from routing.tours.problem import Objective as Objective
from routing.tours.problem import TourProblem as TourProblem
from routing.tours.problem import TruckType as TruckType
from routing.tours.result import Break as Break
from routing.tours.result import TourResult as TourResult
from routing.tours.result import TourStatus as TourStatus
from routing.tours.result import Trip as Trip
from routing.tours.result import TruckPlan as TruckPlan
from routing.tours.result import Unserved as Unserved
from routing.tours.result import Visit as Visit
from routing.tours.solve import DROPPED_REASON as DROPPED_REASON
from routing.tours.solve import ENGINE_FOR_CLASS as ENGINE_FOR_CLASS
from routing.tours.solve import Engine as Engine
from routing.tours.solve import problem_class as problem_class
from routing.tours.solve import solve_tours as solve_tours
