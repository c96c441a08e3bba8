"""Wire models of the cameras API (version 1). Credentials go in, never out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alertd.core.camera import SourceKind


class SourceIn(BaseModel):
    """A camera's source. Credentials apart from the URL; they are sealed at rest and
    never returned."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2000,
        description="rtsp://host/path, http(s)://host/path (MJPEG), file:///path, or "
        "test-pattern: (optionally test-pattern:?fps=15&size=640x480)",
    )
    username: str | None = Field(default=None, max_length=200)
    password: SecretStr | None = Field(default=None)


class CameraOut(BaseModel):
    version: int = 1
    id: str
    name: str
    school_id: str
    building_id: str
    floor_id: str
    position: tuple[float, float] = Field(description="[longitude, latitude] in WGS84")
    room_ids: list[str]
    covers_room: bool = Field(description="it covers the room asked for (room_id)")
    source_kind: SourceKind | None = Field(description="None: no source registered yet")
    source_url: str | None = Field(
        default=None, description="only for those who manage cameras; never with credentials"
    )
    has_credentials: bool
    viewable: bool = Field(description="the asker may watch it (ask for a view token)")
    online: bool | None = Field(description="None: nobody is watching, so it is not open")
    viewers: int
    whep_url: str
    view_token_url: str


class CameraList(BaseModel):
    version: int = 1
    cameras: list[CameraOut]


class ViewTokenOut(BaseModel):
    version: int = 1
    token: str = Field(description="send as `Authorization: Bearer <token>` to the WHEP URL")
    expires_at: datetime
    camera_id: str
    whep_url: str
