import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { SweepView } from "./SweepView";

export const metadata: Metadata = { title: "Sweep" };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function SweepPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!uuid.test(id)) notFound();
  return <SweepView id={id} />;
}
