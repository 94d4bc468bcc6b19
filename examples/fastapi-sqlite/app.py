"""The example application from lueur's scenario-analysis guide: FastAPI + SQLAlchemy on SQLite.

Kept as the guide has it (purposefully not optimised: blocking DB calls in async routes, no timeouts), so the
scenarios and the analysis find what the guide found. One change: the database path comes from the
environment (LUEUR_EXAMPLE_DB) so a run does not write into the source tree.
"""

import os

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, declarative_base, sessionmaker

DATABASE_URL = "sqlite:///" + os.environ.get("LUEUR_EXAMPLE_DB", "./test.db")
engine = create_engine(DATABASE_URL)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True, index=True)
    name = Column(String, index=True)
    secret_password = Column(String)


Base.metadata.create_all(bind=engine)

app = FastAPI(servers=[{"url": "http://localhost:9090", "description": "Staging environment"}])


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/")
async def read_root():
    return {"message": "Hello, World!"}


@app.post("/users/")
async def create_user(name: str, secret_password: str, db: Session = Depends(get_db)):
    try:
        db_user = User(name=name, secret_password=secret_password)
        db.add(db_user)
        db.commit()
        db.refresh(db_user)
        return db_user
    except SQLAlchemyError:
        db.rollback()
        raise HTTPException(status_code=500, detail="Database error occurred")


@app.get("/users/{user_id}")
async def read_user(user_id: int, db: Session = Depends(get_db)):
    try:
        user = db.query(User).filter(User.id == user_id).first()
        if user is None:
            raise HTTPException(status_code=404, detail="User not found")
        return user
    except SQLAlchemyError:
        raise HTTPException(status_code=500, detail="Database error occurred")
