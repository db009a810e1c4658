import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { serverCaller } from "@/app/_lib/server";
import { RunView } from "./RunView";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  if (!uuid.test(id)) return { title: "Run" };
  const run = await (await serverCaller()).runs.get({ id }).catch(() => null);
  return { title: run ? run.name : "Run" };
}

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!uuid.test(id)) notFound();
  return <RunView id={id} />;
}
