import type { Metadata } from "next";
import { Dashboards } from "./Dashboards";

export const metadata: Metadata = { title: "Dashboards" };

export default function DashboardsPage() {
  return <Dashboards />;
}
