import type { Metadata } from "next";
import { SweepsList } from "./SweepsList";

export const metadata: Metadata = { title: "Sweeps" };

export default function SweepsPage() {
  return <SweepsList />;
}
