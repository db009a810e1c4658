"use client";
import { useEffect, useState } from "react";

/** The current time, refreshed every `ms`, for relative timestamps and running durations. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}
