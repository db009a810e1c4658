import type { Metadata } from "next";
import { Plan } from "./Plan";

export const metadata: Metadata = { title: "Plan" };

export default function PlanPage() {
  return <Plan />;
}
