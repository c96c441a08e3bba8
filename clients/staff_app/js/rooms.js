// The rooms of the person's schools, for the room picker: search by number or name.

export async function loadRooms(auth) {
  const { schools } = await auth.get("/v1/schools");
  const trees = await Promise.all(schools.map((s) => auth.get(`/v1/schools/${encodeURIComponent(s.id)}`)));
  const rooms = [];
  for (const tree of trees) {
    for (const building of tree.buildings) {
      for (const floor of building.floors) {
        for (const room of floor.rooms) {
          if (room.type === "corridor") continue;
          rooms.push({
            id: room.id, number: room.number, name: room.name, school_id: tree.id,
            label: `${room.number} ${room.name}`.trim(),
            where: [tree.name, building.name, floor.name].join(", "),
          });
        }
      }
    }
  }
  return rooms.sort((a, b) => a.number.localeCompare(b.number, undefined, { numeric: true }));
}

export function searchRooms(rooms, query, limit = 40) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = rooms.filter((room) => {
    const text = `${room.number} ${room.name}`.toLowerCase();
    return words.every((word) => text.includes(word));
  });
  return matches.slice(0, limit);
}
