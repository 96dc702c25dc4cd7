/** The floor's activities do nothing; the last one of a lead says so, so its worker can count leads done. */
export interface FloorActivities {
  noop(last: boolean): Promise<void>;
}

export function floorActivities(onLeadDone: () => void): FloorActivities {
  return {
    async noop(last) {
      if (last) onLeadDone();
    },
  };
}
