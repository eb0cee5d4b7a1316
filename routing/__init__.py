"""silkroute's solvers and domain types: shipments, routes, plans, scenarios and tours."""

from graphs.errors import InfeasiblePlanError as InfeasiblePlanError
from graphs.errors import InputError as InputError
from graphs.errors import NoRouteError as NoRouteError
from graphs.errors import UnknownPlaceError as UnknownPlaceError
from routing.model import Cargo as Cargo
from routing.model import Shipment as Shipment
from routing.options import RouteOptions as RouteOptions
from routing.plan import Plan as Plan
from routing.plan import PlanSettings as PlanSettings
from routing.plan import plan as plan
from routing.route import Route as Route
from routing.route import Step as Step
from routing.routes import Avoid as Avoid
from routing.routes import find_routes as find_routes
from routing.scenario import apply_scenario as apply_scenario
from routing.stopping import Stop as Stop
from routing.stopping import StoppedError as StoppedError
from routing.tours import Delivery as Delivery
from routing.tours import Depot as Depot
from routing.tours import DriverRules as DriverRules
from routing.tours import Fleet as Fleet
from routing.tours import TourProblem as TourProblem
from routing.tours import TruckType as TruckType
from routing.tours import solve_tours as solve_tours
