"""ConnectWise PSA connector (entry point `connectwise`) and its built-in simulator."""

from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.connector import ConnectWiseConnector

__all__ = ["ConnectWiseConfig", "ConnectWiseConnector"]
